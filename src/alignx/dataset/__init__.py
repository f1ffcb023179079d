"""`alignx build`: raw behaviour in (an event log or the service's database), AlignX records out.

`events` reads and checks the event table (`EVENT_SCHEMA`, one row per event), `builder` turns it into an
AlignX dataset folder (train / test split by user, personas drawn with a seeded RNG, `stats.json`), and
`command` is the CLI (`alignx build --events EVENTS --output DIR`). docs/build.md describes the format and the rules.
"""
