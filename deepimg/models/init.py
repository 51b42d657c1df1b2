"""Weight initialisation schemes, applied to every conv and linear layer; biases start at 0.

The lectures' three families: small random numbers (``normal``, std ``init_std``), Glorot
(``xavier_*``, variance 2 / (fan_in + fan_out), for tanh and sigmoid) and He (``kaiming_*``,
variance 2 / fan_in, for ReLU); plus ``orthogonal``. ``default`` keeps PyTorch's own
(Kaiming-uniform with a = sqrt(5), and small uniform biases).
"""

from __future__ import annotations

from torch import nn

SCHEMES = {
    "kaiming_normal": lambda w, std: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "kaiming_uniform": lambda w, std: nn.init.kaiming_uniform_(w, nonlinearity="relu"),
    "xavier_normal": lambda w, std: nn.init.xavier_normal_(w),
    "xavier_uniform": lambda w, std: nn.init.xavier_uniform_(w),
    "orthogonal": lambda w, std: nn.init.orthogonal_(w),
    "normal": lambda w, std: nn.init.normal_(w, 0.0, std),
}


def init_weights(network: nn.Module, scheme: str, std: float = 0.01) -> None:
    """Re-draw the weights of ``network``'s conv and linear layers by ``scheme``."""
    if scheme == "default":
        return
    for module in network.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            SCHEMES[scheme](module.weight, std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
