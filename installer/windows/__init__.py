"""The Windows installer: its Inno Setup script, its build (natively or under Wine) and the Wine tools the tests share."""
