package portcheck

import (
	"errors"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func asBindError(err error, be **BindError) bool { return errors.As(err, be) }
