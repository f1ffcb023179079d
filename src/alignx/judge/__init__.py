"""Pairwise, order-debiased, persona-aware judging of generations, and judge calibration on the users' own choices.

`prompt` is what the judge is asked, `backends` the openai and local judges, `pairs` what is judged (two
generation files, or a data set's chosen / rejected), `verdicts` how two orders become one outcome and a
summary, `command` the `alignx judge` command and its report.
"""
