"""Where a model's variable tensors (op state kept between invocations) live in firmware:
one static region `hb_state[]` beside the arena, never planned over, and the C function
`hb_model_reset_state()` that writes their reset values.

Why outside the arena: the memory plan reuses every byte once its tensor is dead, but
state must survive from one inference to the next. A model without variable tensors gets
no region and no function (its model.c stays as before; the firmware's weak default
resets nothing).
"""

from __future__ import annotations

from dataclasses import dataclass

from hilbench.model.graph import Graph

ALIGNMENT = 16  # as the arena: any kernel may read its state a word at a time


@dataclass(frozen=True)
class StateLayout:
    offsets: dict[int, int]  # variable tensor index -> byte offset in hb_state
    size: int  # bytes of hb_state (0: the model has no state)

    def pointer(self, index: int) -> str:
        return f"(hb_state + {self.offsets[index]})"


def state_layout(graph: Graph) -> StateLayout:
    offsets: dict[int, int] = {}
    size = 0
    for t in graph.variable_tensors:
        offsets[t.index] = size
        size += (t.nbytes + ALIGNMENT - 1) // ALIGNMENT * ALIGNMENT
    return StateLayout(offsets, size)


def state_source(graph: Graph, layout: StateLayout) -> list[str]:
    """model.c's state region and its reset function; nothing for a stateless model.
    The reset writes every byte as TFLM's ResetVariableTensors memsets it."""
    if not layout.size:
        return []
    lines = ["/* variable tensors (op state): kept between inferences, outside the arena */",
             f"static int8_t hb_state[{layout.size}] __attribute__((aligned(16)));",
             "void hb_model_reset_state(void) {",
             "  uint32_t i;"]
    for t in graph.variable_tensors:
        start = layout.offsets[t.index]
        lines.append(f"  for (i = {start}u; i < {start + t.nbytes}u; ++i) "
                     f"hb_state[i] = (int8_t){t.reset_value};  /* tensor {t.index} */")
    lines.append("}")
    return lines
