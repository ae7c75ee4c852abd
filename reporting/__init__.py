"""The fortnightly situation picture (lägesbild) and "did it work?"

See docs/architecture.md, "The coordinator's fortnight".

A pure library: incidents, places, walk records, shifts, forecast windows and meeting notes in;
dicts, HTML and CSV out. No HTTP, no database, no printing. It imports only the ground floor.
"""
