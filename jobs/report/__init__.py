"""Situation reports for leaders: the PDF sitrep and the offline HTML situation map of a period.

`store.sitrep` gathers what a period holds, `geo.mapfigure` draws its map figure; this package turns them into
files (`pdf.py`: HTML template -> PDF with WeasyPrint; `htmlmap.py`: one self-contained folium page), and
`produce.py` makes a report from start to end: the CLI, the scheduled daily report and on-demand requests.
"""
