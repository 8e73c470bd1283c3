"""The workshops' rules, one module per subject; the views call them, tests call them
directly.

- ``series``: authoring series (who may, slugs, saving the outlines).
- ``runs``: scheduling runs, the listings, a run's title line, the run page, "my
  workshops", exports.
- ``editing``: changing a run after scheduling (what changed, the capacity rule,
  promotion, completions re-checked, who is told).
- ``registration``: the capacity rule, the waitlist, approval, cancellation, decline
  links (the one home of seats, under the run's lock).
- ``attendance``: check-in, the roster, completion of a run.
- ``evaluations``: the participants' evaluation of a run and its summary.
- ``calendar``: iCalendar files and the personal feed.
- ``notifications``: what participants are told; ``reminders``: before the first session.
"""
