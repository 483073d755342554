"""The example shop application (only its models matter to echelon-seed)."""
