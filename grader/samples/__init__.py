"""The sample class: realistic and hostile students made from the references."""
