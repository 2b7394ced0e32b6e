"""helpers.models: the architectures as the sources describe them."""
import pytest
import torch

from helpers import models


def test_resnet20_has_the_sources_parameter_count():
    # seed 000: "a modest ResNet20 has around 272,000 parameters"
    n = models.n_params(models.build("resnet20"))
    assert 265_000 < n < 280_000


def test_width_multiplier_scales_parameters_quadratically():
    n1 = models.n_params(models.build("resnet20", width=1))
    n2 = models.n_params(models.build("resnet20", width=2))
    assert 3.5 < n2 / n1 < 4.1


@pytest.mark.parametrize("name", models.ARCHITECTURES)
def test_every_model_maps_cifar_images_to_ten_logits(name):
    net = models.build(name)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert net.features(torch.randn(2, 3, 32, 32)).shape[0] == 2


def test_unknown_model_names_the_choices():
    with pytest.raises(ValueError, match="resnet20"):
        models.build("vgg")


def test_dropout_masks_come_from_the_given_generator():
    net = models.build("smallcnn", dropout=0.5).train()
    x = torch.randn(4, 3, 32, 32)
    outs = []
    for seed in (0, 0, 1):
        models.set_dropout_generator(net, torch.Generator().manual_seed(seed))
        outs.append(net(x))
    assert torch.equal(outs[0], outs[1]) and not torch.equal(outs[0], outs[2])
    assert torch.equal(net.eval()(x), net(x))  # no dropout in eval mode


def test_deepcnn_variants_shapes_and_he_scale():
    import torch
    from helpers import models
    x = torch.randn(16, 3, 32, 32)
    for name in ("deepcnn", "deepcnn-bn", "deepcnn-res", "deepcnn-bn-res"):
        net = models.build(name)
        assert net(x).shape == (16, 10) and len(net.layers) == 20
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules()) == ("-bn" in name)
        assert net.residual == ("-res" in name)
    w = models.build("deepcnn").layers[0][0].weight
    assert abs(w.std().item() - (2 / (8 * 9)) ** 0.5) < 0.02  # He: std sqrt(2 / fan_in)
