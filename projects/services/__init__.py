"""The studio's workflows: typed, keyword-only functions over the models,
one module per domain. Views, tasks, consumers and the API stay thin and call
these; import the module you mean (this package re-exports nothing).

- access: scoping every lookup to the user's workspaces, and roles
- catalog: projects, created, renamed and deleted
- composer: a request to generate or edit, with its defaults, in one place
- prompts: prompts from structured fields, edit prompts, task templates
- assets: uploaded stills and clips
- versions: creating versions (and enqueuing their generation)
- extend: extending a version by a few seconds from its last frame
- generation: a generation's life, the state machine and its paid call
- leases: a worker's claim on a version, and the one way to change it
- engine_requests: what an engine is given, and its hooks into the lease
- budgets: monthly caps, holds before paying, and what was spent
- throttle: holding an engine account's submissions after a 429
- decisions: what a person does to a version: cancel, retry, settle
- sweeper: crash recovery, resuming versions whose worker died
- housekeeping: every worker's schedule of resume, reclaim and pruning
- storage: our copies of videos and posters, and local copies for engines
- broadcast: live events after commit, their groups, presence
- progress: what a progress bar shows, and estimates from past durations
- tree: the version tree, lineage, compare, provenance
- team: workspaces, invitations, roles and removal
- review: comments, decisions, the pick
- sequences: versions cut and joined into one video, arranged and rendered
- sequence_rendering: a render made in a worker, its lease, resuming it
- sequence_review: a render's time mapped to its clip, comments there, provenance
- activity: the project's activity feed
- engines: which engines this studio runs
- tokens: API tokens, stored as digests
- queue: the seam through which services enqueue tasks
"""
