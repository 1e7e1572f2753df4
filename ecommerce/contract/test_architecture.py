"""The architecture of STYLE.md as import contracts (pyproject.toml, [tool.importlinter]):
apps in layers without cycles, pymongo only in repositories, no DRF in services, views that
touch no store. A broken contract fails the suite, not only `make lint`."""

import subprocess
import sys
from pathlib import Path

from ecommerce.testing.helpers import BASE_DIR


def test_import_contracts_are_kept():
    lint_imports = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=BASE_DIR, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout
