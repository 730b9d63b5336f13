"""Seeing a run: aggregate figures and an HTML report (:mod:`.page`), and one-page
diagnostic sheets per star recomputed from its light curve (:mod:`.sheet`).

Figures are drawn with matplotlib's object API on the Agg canvas (no display, no pyplot
state), and embedded in the page as PNG data URIs so that the report is one file that opens
offline.
"""
