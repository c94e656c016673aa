"""Images and the image model: safe decoding, the EfficientNet-Lite0 encoder (torch or the lean
OpenVINO runtime), the ImageNet classes, the pixel check for near-duplicates."""
