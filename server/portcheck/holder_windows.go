package portcheck

import (
	"encoding/binary"
	"unsafe"

	"golang.org/x/sys/windows"

	"github.com/django-runserver/django-runserver/protocol"
)

var procGetExtendedTCPTable = windows.NewLazySystemDLL("iphlpapi.dll").NewProc("GetExtendedTcpTable")

const tcpTableOwnerPIDListener = 3

// holder reads the TCP tables (IPv4, then IPv6) that netstat -ano shows.
func holder(port int) (*protocol.Holder, error) {
	for _, family := range []uint32{windows.AF_INET, windows.AF_INET6} {
		pid, err := listenerPID(family, port)
		if err != nil {
			return nil, err
		}
		if pid != 0 {
			return &protocol.Holder{PID: int(pid), Command: imageName(pid)}, nil
		}
	}
	return nil, nil
}

func listenerPID(family uint32, port int) (uint32, error) {
	var size uint32
	procGetExtendedTCPTable.Call(0, uintptr(unsafe.Pointer(&size)), 0, uintptr(family), tcpTableOwnerPIDListener, 0)
	if size == 0 {
		return 0, nil
	}
	buf := make([]byte, size)
	r, _, err := procGetExtendedTCPTable.Call(uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0, uintptr(family), tcpTableOwnerPIDListener, 0)
	if r != 0 {
		return 0, err
	}
	n := binary.LittleEndian.Uint32(buf)
	// MIB_TCPROW_OWNER_PID is 6 DWORDs; MIB_TCP6ROW_OWNER_PID is 56 bytes.
	rowSize, portOff, pidOff := 24, 8, 20
	if family == windows.AF_INET6 {
		rowSize, portOff, pidOff = 56, 20, 52
	}
	for i := 0; i < int(n); i++ {
		row := buf[4+i*rowSize:]
		if len(row) < rowSize {
			break
		}
		p := int(binary.BigEndian.Uint16(row[portOff:]))
		if p == port {
			return binary.LittleEndian.Uint32(row[pidOff:]), nil
		}
	}
	return 0, nil
}

func imageName(pid uint32) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid)
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(h)
	buf := make([]uint16, windows.MAX_PATH)
	n := uint32(len(buf))
	if err := windows.QueryFullProcessImageName(h, 0, &buf[0], &n); err != nil {
		return ""
	}
	return windows.UTF16ToString(buf[:n])
}
