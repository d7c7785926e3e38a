// Command finetune fine-tunes the demo's CNN on Fashion-MNIST from Go: with a checkpoint argument
// (e.g. fashion_mnist_out/model.safetensors from tools/demo.sh) only the classifier trains;
// without one, the whole network trains for an epoch. Prints the test accuracy and saves
// finetuned.safetensors.
package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"os"

	"sparsetrain.org/sparsetrain"
)

const (
	data   = "/usr/share/datasets/fashion-mnist/"
	batch  = 64
	pixels = 28 * 28
)

func read(name string, header int) []byte {
	f, err := os.Open(data + name)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		log.Fatal(err)
	}
	all, err := io.ReadAll(gz)
	if err != nil {
		log.Fatal(err)
	}
	return all[header:]
}

// epoch runs batches through step and returns the examples it got right.
func epoch(images, labels []byte, step func([]float32, []int32) (sparsetrain.StepResult, error)) int64 {
	x := make([]float32, batch*pixels)
	y := make([]int32, batch)
	var correct int64
	for start := 0; start+batch <= len(labels); start += batch {
		for i := range x {
			x[i] = float32(images[start*pixels+i]) / 255
		}
		for i := range y {
			y[i] = int32(labels[start+i])
		}
		r, err := step(x, y)
		if err != nil {
			log.Fatal(err)
		}
		correct += r.Correct
	}
	return correct
}

func main() {
	trainImages, trainLabels := read("train-images-idx3-ubyte.gz", 16), read("train-labels-idx1-ubyte.gz", 8)
	testImages, testLabels := read("t10k-images-idx3-ubyte.gz", 16), read("t10k-labels-idx1-ubyte.gz", 8)
	ctx, err := sparsetrain.NewContext(2)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()
	model, err := sparsetrain.NewBuilder(ctx, 1, 28, 28).
		Conv2d("", 32, 3, 1, -1, true).Relu().MaxPool(2, 2, 0).
		Conv2d("", 64, 3, 1, -1, true).Relu().MaxPool(2, 2, 0).
		Conv2d("", 128, 3, 1, -1, true).Relu().MaxPool(2, 2, 0).
		Flatten().Dropout(0.25).Linear("", 10).Build(1)
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	if len(os.Args) > 1 {
		if err := model.Load(os.Args[1]); err != nil {
			log.Fatal(err)
		}
		for _, layer := range []string{"conv1", "conv2", "conv3"} {
			if err := model.SetFrozen(layer, true); err != nil {
				log.Fatal(err)
			}
		}
		fmt.Println("loaded", os.Args[1], "; training the classifier only")
	}
	if err := model.SetOptimizer(sparsetrain.Adam(1e-3)); err != nil {
		log.Fatal(err)
	}
	epoch(trainImages, trainLabels, model.TrainStep)
	correct := epoch(testImages, testLabels, model.EvalStep)
	fmt.Printf("test accuracy %.4f\n", float64(correct)/float64(len(testLabels)/batch*batch))
	if err := model.Save("finetuned.safetensors"); err != nil {
		log.Fatal(err)
	}
}
