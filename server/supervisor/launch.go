package supervisor

import (
	"errors"
	"os"
)

// Launch starts a process by other means than exec, such as a fork of a
// preloaded interpreter. The process takes stdin, stdout and stderr as its
// standard streams, applies the spec it was made for, and leads its own
// process group. Launch returns its process id, and a wait that blocks
// until it has exited and returns its exit code (-1 if a signal ended it).
// Launch may close the three files, or leave them to StartWith.
type Launch func(stdin, stdout, stderr *os.File) (pid int, wait func() int, err error)

// StartWith starts spec's process with launch instead of exec and
// supervises it as Start does: its output goes to spec.OnLine, Stop
// interrupts and then kills its process group, and the group is swept when
// it exits.
func StartWith(spec Spec, launch Launch) (*Process, error) {
	var files [6]*os.File // inR, inW, outR, outW, errR, errW
	closeAll := func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}
	for i := 0; i < len(files); i += 2 {
		r, w, err := os.Pipe()
		if err != nil {
			closeAll()
			return nil, err
		}
		files[i], files[i+1] = r, w
	}
	inR, inW, outR, outW, errR, errW := files[0], files[1], files[2], files[3], files[4], files[5]
	pid, wait, err := launch(inR, outW, errW)
	// The process has its own copies; ours must close so reads end at EOF,
	// and so its stdin ends when we close inW.
	for _, f := range []*os.File{inR, outW, errW} {
		f.Close()
	}
	if err == nil && pid <= 0 {
		err = errors.New("launch reported no process id")
	}
	if err != nil {
		inW.Close()
		outR.Close()
		errR.Close()
		return nil, err
	}
	return watch(spec, pid, inW, outR, errR, wait), nil
}
