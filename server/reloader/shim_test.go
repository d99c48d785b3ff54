package reloader

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/django-runserver/django-runserver/server/internal/testenv"
)

// loadOurs is Python that loads our module name, written beside the shim
// (whose path is the script's first argument), as a variable of that name.
func loadOurs(name string) string {
	return fmt.Sprintf(`import importlib.util, os, sys
spec = importlib.util.spec_from_file_location(%[1]q, os.path.join(os.path.dirname(sys.argv[1]), %[1]q + ".py"))
%[1]s = importlib.util.module_from_spec(spec)
spec.loader.exec_module(%[1]s)
`, name)
}

// A request thread may import a module while the shim copies sys.modules;
// the copy then raises, and must not take the server down with it.
func TestShimModulesSurvivesAConcurrentImport(t *testing.T) {
	path, err := WriteShim()
	if err != nil {
		t.Fatal(err)
	}
	script := loadOurs("shim") + `
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

// A stream asked of a process after its reload began (on a connection it
// had accepted before, which a browser reuses) ends at once: held open, it
// would keep the reloading process for the whole drain, and the page from
// the next one.
func TestStreamAskedWhileReloadingEnds(t *testing.T) {
	shim, err := WriteShim()
	if err != nil {
		t.Fatal(err)
	}
	script := loadOurs("page") + `
page.end_streams()
chunks = list(page._stream(page.PROCESS_ID))
assert chunks == [(page.STREAM_OPEN + "\n\n").encode()], chunks
print("ok")
`
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, testenv.Python(t), "-c", script, shim).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("the stream stayed open (%v)\n%s", err, out)
	}
}
