"""MNIST: 70,000 grayscale 28x28 handwritten digits in 10 classes (LeCun et al., 1998)."""

from __future__ import annotations

from deepimg.data.idx_dataset import IdxDataModule


class MNIST(IdxDataModule):
    """MNIST from ``root``, a system folder, or a download checked against the official MD5s."""

    name = "mnist"
    classes = [str(d) for d in range(10)]
    files = {
        "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
    }
    system_dirs = ["/usr/share/datasets/mnist"]
    url = "https://ossci-datasets.s3.amazonaws.com/mnist"
