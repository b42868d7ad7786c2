"""``treelane demo``: an example repository whose workflow runs small shipped agents.

:func:`treelane.demo.project.create` writes the repository; the scripts in
``agents/`` are the tasks (plain Python, standard library only, run with the same
interpreter as treelane). The command itself is :mod:`treelane.cli.demo`.
"""
