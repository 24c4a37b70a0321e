"""a+b: techniques applied left to right (`prune-channels-50+int8-static`)."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from techniques.base import Context, Technique, annotate, facts_of


@dataclass(frozen=True)
class Composed(Technique):
    """Applies `parts` in order, each to the previous one's result; their facts are merged. If a later part cannot
    take what an earlier one produced (a compiled or exported model, say), the composition is skipped with why."""

    parts: tuple[Technique, ...]

    @property
    def name(self) -> str:
        return "+".join(part.name for part in self.parts)

    @property
    def dtype(self) -> str:
        """The last part's number format that is not fp32 (pruning then int8-static runs int8)."""
        return next((part.dtype for part in reversed(self.parts) if part.dtype != "fp32"), "fp32")

    @property
    def tier(self) -> str:
        return "full" if any(part.tier == "full" for part in self.parts) else "default"

    def apply(self, model: nn.Module, context: Context) -> nn.Module:
        facts: dict[str, object] = {}
        for index, part in enumerate(self.parts):
            try:
                model = part.apply(model, context)
            except Exception as exc:
                if index == 0:
                    raise
                why = str(exc) if isinstance(exc, NotImplementedError) else f"{type(exc).__name__}: {exc}"
                raise NotImplementedError(
                    f"{part.name} cannot be applied after {self.parts[index - 1].name}: {why}"
                ) from exc
            facts.update(facts_of(model))
        return annotate(model, **facts)
