package helm

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	"helm.sh/helm/v4/pkg/chart/loader/archive"

	"github.com/moorcd/moor/pkg/render"
)

// budget bounds what one chart load may hold in memory: the decompressed bytes of every file (the chart's
// own and those inside vendored .tgz subcharts) and the number of files. One budget is shared by a whole
// load, so a zip bomb nested three subcharts deep fails as surely as one at the top.
type budget struct {
	maxFileBytes int64 // any one file
	maxBytes     int64 // all files together
	maxFiles     int
	bytes        int64
	files        int
}

// take charges one file of n bytes to the budget.
func (b *budget) take(name string, n int64) error {
	if n > b.maxFileBytes {
		return fmt.Errorf("chart file %s is over %d bytes: %w", name, b.maxFileBytes, render.ErrTooLarge)
	}
	b.bytes += n
	if b.bytes > b.maxBytes {
		return fmt.Errorf("chart is over %d bytes decompressed (at %s): %w", b.maxBytes, name, render.ErrTooLarge)
	}
	b.files++
	if b.files > b.maxFiles {
		return fmt.Errorf("chart has more than %d files: %w", b.maxFiles, render.ErrTooLarge)
	}
	return nil
}

// remaining is the most bytes the next file may have.
func (b *budget) remaining() int64 {
	return min(b.maxFileBytes, b.maxBytes-b.bytes)
}

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// untarChart reads a gzipped chart archive into memory. Helm's archive loader does the same but with a
// process-wide size limit (a package variable); this one charges the caller's budget, refuses links and
// devices, and reports sizes as render.ErrTooLarge. Paths lose their first element (the chart directory
// every packaged chart has), like Helm's.
func untarChart(data []byte, b *budget) ([]*archive.BufferedFile, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("not a gzipped chart archive: %w", err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var files []*archive.BufferedFile
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read chart archive: %w", err)
		}
		switch hdr.Typeflag {
		case tar.TypeReg:
		case tar.TypeDir, tar.TypeXGlobalHeader, tar.TypeXHeader:
			continue
		default:
			// Symlinks, hard links and devices have no meaning in a chart and could point anywhere.
			return nil, fmt.Errorf("chart archive entry %q: type %q is not allowed", hdr.Name, hdr.Typeflag)
		}
		name := strings.ReplaceAll(hdr.Name, "\\", "/")
		if path.IsAbs(name) || isDrivePath(name) {
			return nil, fmt.Errorf("chart archive entry %q: %w", hdr.Name, render.ErrPathEscape)
		}
		_, rest, ok := strings.Cut(name, "/")
		if !ok {
			// A file at the top level, outside the chart directory (Helm refuses these too).
			return nil, fmt.Errorf("chart archive entry %q is outside the chart directory", hdr.Name)
		}
		rest = path.Clean(rest)
		if rest == "." || rest == ".." || strings.HasPrefix(rest, "../") || isDrivePath(rest) {
			return nil, fmt.Errorf("chart archive entry %q: %w", hdr.Name, render.ErrPathEscape)
		}
		if hdr.Size > b.remaining() {
			return nil, b.take(rest, hdr.Size)
		}
		// Never trust hdr.Size alone: read at most one byte more than the budget allows.
		buf, err := io.ReadAll(io.LimitReader(tr, b.remaining()+1))
		if err != nil {
			return nil, fmt.Errorf("read chart archive entry %q: %w", hdr.Name, err)
		}
		if err := b.take(rest, int64(len(buf))); err != nil {
			return nil, err
		}
		files = append(files, &archive.BufferedFile{Name: rest, ModTime: hdr.ModTime, Data: bytes.TrimPrefix(buf, utf8BOM)})
	}
	if len(files) == 0 {
		return nil, errors.New("chart archive is empty")
	}
	return expandSubcharts(files, b)
}

// expandSubcharts replaces every vendored subchart archive (charts/<name>.tgz, at any depth of real
// subcharts) with its files under charts/<name>.tgz.d/, so Helm's loader never decompresses anything
// itself and every byte is charged to one budget.
func expandSubcharts(files []*archive.BufferedFile, b *budget) ([]*archive.BufferedFile, error) {
	out := make([]*archive.BufferedFile, 0, len(files))
	sub := map[string][]*archive.BufferedFile{} // charts/<dir>/... of unpacked subcharts
	var subOrder []string
	for _, f := range files {
		rest, ok := strings.CutPrefix(f.Name, "charts/")
		if !ok {
			out = append(out, f)
			continue
		}
		dir, inner, nested := strings.Cut(rest, "/")
		switch {
		case !nested && strings.HasSuffix(dir, ".tgz"):
			inside, err := untarChart(f.Data, b)
			if err != nil {
				return nil, fmt.Errorf("subchart %s: %w", f.Name, err)
			}
			for _, in := range inside {
				in.Name = "charts/" + dir + ".d/" + in.Name
			}
			out = append(out, inside...)
		case nested:
			if _, seen := sub[dir]; !seen {
				subOrder = append(subOrder, dir)
			}
			sub[dir] = append(sub[dir], &archive.BufferedFile{Name: inner, ModTime: f.ModTime, Data: f.Data})
		default:
			out = append(out, f) // e.g. charts/foo.tgz.prov
		}
	}
	for _, dir := range subOrder {
		inside, err := expandSubcharts(sub[dir], b)
		if err != nil {
			return nil, err
		}
		for _, in := range inside {
			in.Name = "charts/" + dir + "/" + in.Name
		}
		out = append(out, inside...)
	}
	return out, nil
}

// isDrivePath reports a Windows drive path ("c:/x"), which path.IsAbs does not see.
func isDrivePath(name string) bool {
	return len(name) >= 2 && name[1] == ':' && ('a' <= name[0]|0x20 && name[0]|0x20 <= 'z')
}
