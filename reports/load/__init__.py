"""Run files -> tidy DataFrame: the only part of reports that reads files (results JSON, journals, history)."""
