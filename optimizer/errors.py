"""Error types. The CLI turns each into a one-paragraph message and an exit code, never a traceback."""

from __future__ import annotations

from collections.abc import Sequence


class LanduseError(Exception):
    """Base class of every error the package raises on purpose."""

    exit_code = 1


class ScenarioError(LanduseError):
    """Bad scenario input, located by file, row and field.

    For CSV files `row` counts like a spreadsheet (the header is row 1, the first data row is row 2); for
    GeoJSON files it is the 1-based feature number (`row_kind="feature"`).
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        file: str | None = None,
        row: int | None = None,
        field: str | None = None,
        row_kind: str = "row",
    ):
        self.message = message
        self.file = file
        self.row = row
        self.field = field
        where = []
        if file:
            where.append(str(file))
        if row is not None:
            where.append(f"{row_kind} {row}")
        if field:
            where.append(f"field '{field}'")
        super().__init__(f"{', '.join(where)}: {message}" if where else message)


class InfeasibleScenario(LanduseError):
    """The scenario's rules cannot all hold. `conflicts` names the rules, in the planner's terms."""

    exit_code = 3

    def __init__(self, conflicts: Sequence[str], detail: str = ""):
        self.conflicts = list(conflicts)
        lines = "\n".join(f"  - {c}" for c in self.conflicts)
        msg = "the scenario is infeasible: these rules conflict\n" + lines
        if detail:
            msg += "\n" + detail
        super().__init__(msg)


class BadOption(LanduseError):
    """A solve option out of range (a time limit that is not a finite number of seconds, a gap outside [0, 1]...)."""

    exit_code = 2


class SolverUnavailable(LanduseError):
    """The requested solver backend is not installed or not usable here."""

    exit_code = 4


class SolverFailed(LanduseError):
    """The solver stopped without a usable answer (numerical trouble, no plan within the time limit...)."""

    exit_code = 5


class CheckFailed(LanduseError):
    """A plan broke the scenario's rules: it is never reported as a result."""

    exit_code = 6

    def __init__(self, violations: Sequence[str]):
        self.violations = list(violations)
        shown = "\n".join(f"  - {v}" for v in self.violations[:20])
        more = f"\n  ... and {len(self.violations) - 20} more" if len(self.violations) > 20 else ""
        super().__init__(f"the plan fails the independent check ({len(self.violations)} violations):\n{shown}{more}")


class OutputRefused(LanduseError):
    """An output folder the tool will not write (it would lose the user's files, or the path is unusable)."""

    exit_code = 2

    def __init__(self, path: str, why: str, hint: str = ""):
        self.path = path
        self.why = why
        self.hint = hint
        super().__init__(f"output folder {path!r}: {why}" + (f"; {hint}" if hint else ""))
