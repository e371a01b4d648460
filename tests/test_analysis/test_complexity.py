"""Parameters and FLOPs of hand-countable models, split into student and training-only."""
import torch
import torch.nn as nn

from skd_det.analysis.complexity import count_flops, parameter_split, student_of, total_loss


class ConvLinear(nn.Module):
    """conv 3->8 (3x3, pad 1) on 8x8, global mean, linear 8->4."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(self.conv(x).mean((2, 3)))


class Wrapper(nn.Module):

    def __init__(self):
        super().__init__()
        self.student = ConvLinear()
        self.teacher = nn.Linear(4, 2)

    def forward(self, x):
        return self.teacher(self.student(x))


# conv: 8 * 3 * 3 * 3 weights + 8 biases; fc: 8 * 4 + 4
CONV_PARAMS, FC_PARAMS = 8 * 3 * 3 * 3 + 8, 8 * 4 + 4
# one multiply-accumulate per weight and output position: 216 MACs x 64 pixels; fc 32
CONV_FLOPS, FC_FLOPS = 8 * 3 * 3 * 3 * 8 * 8, 8 * 4


def test_plain_model_is_all_student():
    model = ConvLinear()
    assert student_of(model) is model
    assert parameter_split(model) == dict(student=CONV_PARAMS + FC_PARAMS, training_only=0)
    flops = count_flops(model, lambda m, x: m(x), [torch.zeros(1, 3, 8, 8)])
    assert flops == CONV_FLOPS + FC_FLOPS == 13856
    # batch of two: twice the work
    assert count_flops(model, lambda m, x: m(x), [torch.zeros(2, 3, 8, 8)]) == 2 * 13856


def test_wrapper_split():
    model = Wrapper()
    assert student_of(model) is model.student
    assert parameter_split(model) == dict(student=CONV_PARAMS + FC_PARAMS, training_only=4 * 2 + 2)
    x = torch.zeros(1, 3, 8, 8)
    full = count_flops(model, lambda m, x: m(x), [x])
    alone = count_flops(model.student, lambda m, x: m(x), [x])
    assert full - alone == 4 * 2  # the teacher's linear layer


def test_total_loss_sums_loss_keys_only():
    losses = dict(
        loss_cls=[torch.tensor(1.), torch.tensor(2.)],
        loss_bbox=torch.tensor(3.),
        acc=torch.tensor(100.))
    assert float(total_loss(losses)) == 6.
