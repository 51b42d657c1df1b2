"""Fashion-MNIST: 70,000 grayscale 28x28 pictures of clothing in 10 classes (Zalando, 2017)."""

from __future__ import annotations

from deepimg.data.idx_dataset import IdxDataModule


class FashionMNIST(IdxDataModule):
    """Fashion-MNIST from ``root``, Debian's package ``dataset-fashion-mnist``, or a download."""

    name = "fashion-mnist"
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]  # fmt: skip
    # SHA-256 of each file's decompressed content: Debian re-compressed the official files.
    files = {
        "train-images-idx3-ubyte.gz": "sha256:c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
        "train-labels-idx1-ubyte.gz": "sha256:bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
        "t10k-images-idx3-ubyte.gz": "sha256:5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
        "t10k-labels-idx1-ubyte.gz": "sha256:0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    }
    system_dirs = ["/usr/share/datasets/fashion-mnist"]
    url = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com"
