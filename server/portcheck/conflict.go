package portcheck

import (
	"errors"
	"fmt"

	"github.com/django-runserver/django-runserver/protocol"
	"github.com/django-runserver/django-runserver/server/internal/text"
)

// Setting is the settings key every port conflict concerns: the address.
const Setting = "address"

// maxCommand bounds a holder's command line in messages.
const maxCommand = 200

// oneLine shows a holder's command line on one line, shortened.
func oneLine(cmd string) string { return text.OneLine(cmd, maxCommand) }

// Conflict explains why a cannot be bound, or returns nil when it can, or
// when only Django can judge it (a host name that may resolve later, for
// example). A taken port names its holder and a free port to use instead.
func Conflict(p Prober, a Address) *protocol.Error {
	err := p.Probe(a)
	var be *BindError
	if err == nil || !errors.As(err, &be) || be.Code == "" {
		return nil
	}
	return explain(p, be.Code, a)
}

// FromDjango explains the bind error Django reported for a (see
// ClassifyLine). A port taken after our probe is probed again, to name
// who took it.
func FromDjango(p Prober, code protocol.ErrorCode, a Address) *protocol.Error {
	if code == protocol.CodePortInUse {
		if perr := Conflict(p, a); perr != nil && perr.Code == protocol.CodePortInUse {
			return perr
		}
	}
	return explain(nil, code, a)
}

// explain words a bind error of a. With a prober, a taken port also gets
// its holder and a suggestion.
func explain(p Prober, code protocol.ErrorCode, a Address) *protocol.Error {
	perr := &protocol.Error{Code: code, Port: a.Port, Setting: Setting}
	switch code {
	case protocol.CodePortInUse:
		if p != nil {
			perr.Holder = p.Holder(a.Port)
			if next, ok := nextFree(p, a); ok {
				perr.SuggestedAddress = next.String()
			}
		}
		perr.Message = fmt.Sprintf("Port %d is in use by %s. %s", a.Port, holderName(perr.Holder), useOrStop(perr))
	case protocol.CodePermissionDenied:
		perr.Message = fmt.Sprintf("You don't have permission to listen on port %d: ports below 1024 need administrator rights. Choose a port such as 8000.", a.Port)
	case protocol.CodeAddressUnavailable:
		perr.Message = fmt.Sprintf("The address %s is not on this machine, so Django can't listen there. Use 127.0.0.1:%d, or an address this machine has.", a.Host, a.Port)
	default:
		perr.Message = fmt.Sprintf("%s is not a valid runserver address: use %s.", a, Forms)
	}
	return perr
}

// holderName names the process holding a port, as precisely as we know it.
func holderName(h *protocol.Holder) string {
	if h == nil {
		return "another process"
	}
	if h.Command == "" {
		return fmt.Sprintf("PID %d", h.PID)
	}
	return fmt.Sprintf("PID %d (%s)", h.PID, h.Command)
}

func useOrStop(perr *protocol.Error) string {
	if a, err := Parse(perr.SuggestedAddress); err == nil && perr.SuggestedAddress != "" {
		return fmt.Sprintf("Use port %d, or stop that process.", a.Port)
	}
	return "Stop that process, or choose another port."
}

// Action is what to do about a taken port.
type Action int

const (
	// Fail reports the conflict and starts nothing.
	Fail Action = iota
	// UseNext starts on the suggested address at once.
	UseNext
	// Ask reports the conflict and offers the suggested address.
	Ask
)

// Decision is what the onPortConflict policy makes of a conflict.
type Decision struct {
	Action Action
	// Next is the suggested address, for UseNext and Ask.
	Next Address
	// Notice tells the user, for UseNext, that the server moved.
	Notice string
	// Offer is the title of the action that accepts Next, for Ask.
	Offer string
}

// Decide applies policy to a conflict from Conflict. Only a taken port with
// a free one to suggest leaves a choice; anything else fails.
func Decide(policy protocol.PortConflictAction, perr *protocol.Error) Decision {
	if perr == nil || perr.Code != protocol.CodePortInUse || perr.SuggestedAddress == "" {
		return Decision{Action: Fail}
	}
	next, err := Parse(perr.SuggestedAddress)
	if err != nil {
		return Decision{Action: Fail}
	}
	switch policy {
	case protocol.PortConflictNextFree:
		return Decision{Action: UseNext, Next: next,
			Notice: fmt.Sprintf("Port %d is in use by %s. Starting on port %d instead.", perr.Port, holderName(perr.Holder), next.Port)}
	case protocol.PortConflictAsk:
		return Decision{Action: Ask, Next: next, Offer: fmt.Sprintf("Use port %d", next.Port)}
	}
	return Decision{Action: Fail}
}
