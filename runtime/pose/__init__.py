"""The pose task: keypoint metadata, COCO-format data, targets, losses, decoding,
evaluation and synthetic data. Torch-free except where a module says otherwise.

Modules (import them explicitly; this package imports nothing):

- keypoints: `KeypointSpec`, `COCO`, `MPII`, PoseNFS part groupings, `get_spec`
- affine: box -> centre/scale, crop matrices and their inverse, image warping
- coco_json: reading COCO keypoint / detection files, `PoseDataError`
- augment: seeded per-item scale / rotation / flip draws
- targets: Gaussian heatmaps and target weights
- dataset (torch): `CocoPoseDataset`, one person crop per sample
- video (torch): `VideoPoseDataset`, T + 1-frame clips of one track
- losses (torch): `JointsMSELoss`, PoseNFS squash and part -> keypoint maps
- decode: argmax + quarter offset, flip test, COCO result records
- evaluate: COCO OKS AP/AR via pycocotools, OKS-NMS, PCKh
- synth: the synthetic COCO-format data generator
"""
