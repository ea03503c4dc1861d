"""04_cutover: replace report-derived values with Blaze's, step by step, reversibly (CONTRACTS.md §5).

- :func:`plan` writes ``cutover.sql``, ``verify.sql``, ``rollback.sql``, ``finalize.sql`` and
  ``cutover_plan.json`` into a run folder; the rows each step would change are counted by
  running the script in a transaction that is rolled back;
- :func:`apply` runs the reviewed ``cutover.sql`` and ``verify.sql`` in one transaction, after
  the compare gate (or ``force``); a second apply changes nothing;
- :func:`rollback` restores every replaced value and removes every inserted row, keeping and
  reporting what another application changed since.

The modules, one concern each: :mod:`.steps` (the steps as data, resolved against the
catalog), :mod:`.sqlgen` (set-based statements), :mod:`.cutover_sql`, :mod:`.verify_sql`,
:mod:`.rollback_sql` (the scripts), :mod:`.script` (labelled parts: render, parse, run),
:mod:`.plan`, :mod:`.apply`, :mod:`.rollback`.

Side tables (created by the first apply, kept as the audit trail): ``cutover_runs``,
``cutover_log`` (rows changed and checksums before and after, per step and table),
``cutover_backup_rows`` and ``cutover_backup_columns`` (each changed row's values before and
after, as text) with the view ``cutover_backup`` (one replaced value per row, with its type),
``cutover_inserted`` (every inserted row's key and md5), ``cutover_added_columns`` (the
``_old`` columns a run created) and ``cutover_conflicts``. No column is added to the existing
tables besides the plan's ``_old`` backups.
"""

from .apply import APPLY_FILE, ApplyResult, GateFailedError, LogRow, apply, latest_applied
from .plan import FILES, PLAN_FILE, Plan, StepPlan, TablePlan, load, plan
from .rollback import CONFLICTS_CSV, Conflict, RollbackResult, rollback
from .steps import KEEP_EXISTING, LEFT_AS_IS, SAFE_FIELDS, STEPS, StepSpec

__all__ = [
    "APPLY_FILE",
    "CONFLICTS_CSV",
    "FILES",
    "KEEP_EXISTING",
    "LEFT_AS_IS",
    "PLAN_FILE",
    "SAFE_FIELDS",
    "STEPS",
    "ApplyResult",
    "Conflict",
    "GateFailedError",
    "LogRow",
    "Plan",
    "RollbackResult",
    "StepPlan",
    "StepSpec",
    "TablePlan",
    "apply",
    "latest_applied",
    "load",
    "plan",
    "rollback",
]
