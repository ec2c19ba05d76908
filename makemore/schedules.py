"""Learning-rate schedules that torch.optim.lr_scheduler has, made to run for any number of steps >= 1."""

from torch.optim import lr_scheduler


class OneCycleLR(lr_scheduler.OneCycleLR):
    """torch's one-cycle schedule: a warm-up from max_lr / div_factor to max_lr over pct_start of the steps,
    then a cosine decay to max_lr / div_factor / final_div_factor at the last step.

    torch's warm-up ends at step pct_start * total_steps - 1: where that is step 0 (steps=20 at 5%) it divides
    by zero, and where it is before step 0 the run starts partway down the decay (steps=1 takes its one step
    at the decay's end, lr / 250,000). A warm-up shorter than two steps is none here: the first step is at
    max_lr, and the decay ends at the same lr as before.
    """

    def __init__(
        self, optimizer, max_lr, total_steps, pct_start=0.3, div_factor=25.0, final_div_factor=1e4, **kwargs
    ):
        if pct_start * total_steps < 2:
            # torch's warm-up from max_lr to max_lr (div_factor 1), ending between steps 0 and 1: step 0 at
            # max_lr
            final_div_factor, div_factor = final_div_factor * div_factor, 1.0
            total_steps = max(total_steps, 2)
            pct_start = 1.5 / total_steps
        super().__init__(
            optimizer,
            max_lr,
            total_steps=total_steps,
            pct_start=pct_start,
            div_factor=div_factor,
            final_div_factor=final_div_factor,
            **kwargs,
        )
