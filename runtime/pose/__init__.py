"""The pose task: keypoint metadata, COCO-format data, targets, losses, decoding,
evaluation and synthetic data. Torch-free except where a module says otherwise."""
