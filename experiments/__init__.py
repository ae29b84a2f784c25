"""The built-in experiments, imported as ``mdptheory.experiments.<name>`` (in a checkout this
folder is mounted under that name; in a wheel it is installed there). One import identity:
importing this folder under another name (e.g. ``import experiments.x`` from the repository
root) would load each experiment twice, so it is refused."""
if __name__ != "mdptheory.experiments":
    raise ImportError(f"import the built-in experiments as mdptheory.experiments.<name>, not as "
                      f"{__name__}.<name>")
