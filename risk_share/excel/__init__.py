"""Risk share workbooks: the only part of ``risk_share`` that touches ``.xlsx`` files.

- :mod:`risk_share.excel.agreement_schema`: what each key of an agreement workbook holds;
- :mod:`risk_share.excel.agreement_workbook`: agreement (TOML tables) ↔ agreement workbook,
  and its ``plan_lines`` sheet.

They build on the generic kit in :mod:`capitation.excel` (guard, read, input
sheets, the model workbook writer, patch, tables).
"""
