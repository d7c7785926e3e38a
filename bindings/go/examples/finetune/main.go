// Command finetune fine-tunes on Fashion-MNIST from Go. With a checkpoint argument (e.g.
// fashion_mnist_out/model.safetensors from tools/demo.sh) the demo's CNN loads it and only the
// classifier trains; without one, the whole network trains for an epoch; either way it prints the
// test accuracy and saves finetuned.safetensors. With BACKBONE.onnx [SCRATCH.onnx] (from
// tools/pretrain_backbone.py: a CNN trained in PyTorch on classes 0-4) it imports the backbone,
// cuts it at its pooled features, gives it a head for classes 5-9 and trains on 200 examples, the
// backbone frozen and then throughout, and the untrained twin from scratch for comparison.
package main

import (
	"compress/gzip"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

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

// newClasses returns the first limit images of classes 5-9 as floats, with labels 0-4.
func newClasses(images, labels []byte, limit int) ([]float32, []int32) {
	var x []float32
	var y []int32
	for i := 0; i < len(labels) && len(y) < limit; i++ {
		if labels[i] < 5 {
			continue
		}
		for _, p := range images[i*pixels : (i+1)*pixels] {
			x = append(x, float32(p)/255)
		}
		y = append(y, int32(labels[i])-5)
	}
	return x, y
}

// fineTuneONNX imports onnx cut at its pooled features with a new head, trains and tests it.
func fineTuneONNX(ctx *sparsetrain.Context, onnx string, freeze bool, x []float32, y []int32, testX []float32, testY []int32) float64 {
	const n = 50
	model, err := sparsetrain.ImportONNX(ctx, onnx, "/Flatten_output_0").Linear("head", 5).Build(1)
	if err != nil {
		log.Fatal(err)
	}
	defer model.Close()
	lr := 1e-3
	if freeze {
		lr = 1e-2
		if err := model.SetFrozen("features", true); err != nil { // the backbone's module
			log.Fatal(err)
		}
	}
	if err := model.SetOptimizer(sparsetrain.Adam(lr)); err != nil {
		log.Fatal(err)
	}
	for e := 0; e < 10; e++ {
		for start := 0; start+n <= len(y); start += n {
			if _, err := model.TrainStep(x[start*pixels:(start+n)*pixels], y[start:start+n]); err != nil {
				log.Fatal(err)
			}
		}
	}
	var correct int64
	for start := 0; start < len(testY); start += n {
		end := min(len(testY), start+n)
		r, err := model.EvalStep(testX[start*pixels:end*pixels], testY[start:end])
		if err != nil {
			log.Fatal(err)
		}
		correct += r.Correct
	}
	return float64(correct) / float64(len(testY))
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func bringYourOwnModel(args []string, trainImages, trainLabels, testImages, testLabels []byte) {
	x, y := newClasses(trainImages, trainLabels, 200)
	testX, testY := newClasses(testImages, testLabels, len(testLabels))
	ctx, err := sparsetrain.NewContext(2)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()
	fmt.Printf("imported backbone, frozen, new head: test accuracy %.4f on classes 5-9\n", fineTuneONNX(ctx, args[0], true, x, y, testX, testY))
	fmt.Printf("imported backbone, all trained:      test accuracy %.4f on classes 5-9\n", fineTuneONNX(ctx, args[0], false, x, y, testX, testY))
	if len(args) > 1 {
		fmt.Printf("the same network from scratch:       test accuracy %.4f on classes 5-9\n", fineTuneONNX(ctx, args[1], false, x, y, testX, testY))
	}
}

// conv3x3 is a 3x3 convolution with bias that keeps the map's size.
func conv3x3(outChannels int64) sparsetrain.ConvOptions {
	return sparsetrain.ConvOptions{OutChannels: outChannels, Kernel: 3, Pad: sparsetrain.SamePad, Bias: true}
}

func main() {
	trainImages, trainLabels := read("train-images-idx3-ubyte.gz", 16), read("train-labels-idx1-ubyte.gz", 8)
	testImages, testLabels := read("t10k-images-idx3-ubyte.gz", 16), read("t10k-labels-idx1-ubyte.gz", 8)
	if len(os.Args) > 1 && strings.HasSuffix(os.Args[1], ".onnx") {
		bringYourOwnModel(os.Args[1:], trainImages, trainLabels, testImages, testLabels)
		return
	}
	ctx, err := sparsetrain.NewContext(2)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()
	model, err := sparsetrain.NewBuilder(ctx, sparsetrain.Shape{C: 1, H: 28, W: 28}).
		Conv2d("", conv3x3(32)).Relu().MaxPool(2, 2, 0).
		Conv2d("", conv3x3(64)).Relu().MaxPool(2, 2, 0).
		Conv2d("", conv3x3(128)).Relu().MaxPool(2, 2, 0).
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
