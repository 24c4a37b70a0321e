"""The regression gate's judgement: rules, the case-by-case comparison of two runs, and its Markdown."""
