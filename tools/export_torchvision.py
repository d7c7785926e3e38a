#!/usr/bin/python3
"""Writes a seeded, randomly initialised torchvision classifier to ONNX, for import by SparseTrain.

    /usr/bin/python3 tools/export_torchvision.py resnet18 resnet18.onnx --size 64 --classes 10
    /usr/bin/python3 tools/export_torchvision.py mobilenet_v2 m.onnx --mode eval --list-tensors

Needs Debian's python3-torch, python3-torchvision and python3-onnx (tools/bootstrap.sh).

--mode train (the default, and the form to fine-tune from) exports with
training=TrainingMode.TRAINING and no constant folding: batch norm stays a BatchNormalization node
and every initializer is named by its state_dict key ("layer1.0.conv1.weight"), so SparseTrain's
checkpoints and tools/checkpoint_convert.py speak PyTorch's names. --mode eval folds batch norm
into the convolutions (generated names such as "onnx::Conv_193"): it imports and predicts the
same, but there are no batch-norm layers left to fine-tune.
--list-tensors prints each node's output tensor with its op, the names an importer's cut_at takes.
"""
import argparse
import copy

import torch
import torchvision

MODELS = ("resnet18", "resnet34", "resnet50", "mobilenet_v2", "mobilenet_v3_small",
          "mobilenet_v3_large", "squeezenet1_0", "squeezenet1_1")


def make_model(name, classes, seed, dropout=None):
    """The torchvision classifier `name`, initialised from `seed`; dropout layers set to
    probability `dropout` when it is not None (0 makes training steps deterministic)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; one of {', '.join(MODELS)}")
    torch.manual_seed(seed)
    model = getattr(torchvision.models, name)(weights=None, num_classes=classes)
    if dropout is not None:
        for module in model.modules():
            if isinstance(module, torch.nn.Dropout):
                module.p = dropout
    return model


def export(model, path, size, mode, opset=13, channels=3):
    """Writes `model` for inputs of channels x size x size, batch dimension free. A
    training-mode export traces one forward pass in training mode, which moves batch norm's
    running statistics: the model and the file get back the state from before it."""
    import onnx
    from onnx import numpy_helper
    state = copy.deepcopy(model.state_dict())
    example = torch.zeros(2, channels, size, size)  # training-mode batch norm needs two values
    training = mode == "train"
    model.train(training)
    torch.onnx.export(
        model, example, path, opset_version=opset, input_names=["input"],
        output_names=["logits"], dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
        training=torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL,
        do_constant_folding=not training)
    model.load_state_dict(state)
    model.eval()
    onnx_model = onnx.load(path)
    for tensor in onnx_model.graph.initializer:
        if tensor.name in state:
            tensor.CopyFrom(numpy_helper.from_array(state[tensor.name].numpy(), tensor.name))
    onnx.save(onnx_model, path)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", choices=MODELS)
    parser.add_argument("out", help="the .onnx file to write")
    parser.add_argument("--size", type=int, default=64, help="input height and width")
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mode", choices=("train", "eval"), default="train")
    parser.add_argument("--opset", type=int, default=13, help="11 to 17")
    parser.add_argument("--list-tensors", action="store_true")
    args = parser.parse_args()
    export(make_model(args.model, args.classes, args.seed), args.out, args.size, args.mode,
           args.opset)
    if args.list_tensors:
        import onnx
        for node in onnx.load(args.out).graph.node:
            if node.op_type != "Constant":
                print(f"{node.output[0]}\t{node.op_type}\t{node.name}")


if __name__ == "__main__":
    main()
