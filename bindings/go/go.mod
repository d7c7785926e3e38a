module sparsetrain.org/sparsetrain

go 1.19
