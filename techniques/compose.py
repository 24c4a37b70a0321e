"""a+b: techniques applied left to right (`prune-channels-50+int8-static`)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from techniques.base import Context, Technique, annotate, facts_of


@dataclass(frozen=True)
class Composed:
    """Applies `parts` in order, each to the previous one's result; their facts are merged. If a later part cannot
    take what an earlier one produced (a compiled or exported model, say), the composition is skipped with why."""

    parts: tuple[Technique, ...]

    @property
    def name(self) -> str:
        return "+".join(part.name for part in self.parts)

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        facts: dict[str, object] = {}
        for index, part in enumerate(self.parts):
            try:
                model = part.apply(model, context)
            except NotImplementedError:
                raise
            except Exception as exc:
                if index == 0:
                    raise
                raise NotImplementedError(
                    f"{part.name} cannot be applied after {self.parts[index - 1].name}: {type(exc).__name__}: {exc}"
                ) from exc
            facts.update(facts_of(model))
        return annotate(model, **facts)
