package reloader

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// A request thread may import a module while the shim copies sys.modules;
// the copy then raises, and must not take the server down with it.
func TestShimModulesSurvivesAConcurrentImport(t *testing.T) {
	path, err := WriteShim()
	if err != nil {
		t.Fatal(err)
	}
	script := `
import importlib.util, sys
spec = importlib.util.spec_from_file_location("shim", sys.argv[1])
shim = importlib.util.module_from_spec(spec)
spec.loader.exec_module(shim)

class ChangedDuringCopy(dict):
    copies = 0
    def items(self):
        ChangedDuringCopy.copies += 1
        if ChangedDuringCopy.copies == 1:
            raise RuntimeError("dictionary changed size during iteration")
        return super().items()

real = sys.modules
sys.modules = ChangedDuringCopy(real)
try:
    items = shim._modules()
finally:
    sys.modules = real
assert ChangedDuringCopy.copies == 2, ChangedDuringCopy.copies
assert ("sys", sys) in items
print("ok")
`
	out, err := exec.Command(testenv.Python(t), "-c", script, path).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("%v\n%s", err, out)
	}
}
