package chain

import "fmt"

// Segment preallocation. An fsync that must also persist a new file size
// (an append) costs more on ext4 than one that only writes data into
// blocks already allocated and written, and its tail is much longer
// (docs/BENCHMARKS.md, "Durable gate"). So the writer keeps a region of
// zeros, written and synced, ahead of the data in the open segment, and a
// commit overwrites zeros and syncs with fdatasync: no metadata changes.
// Readers find the end of the data by frame validation, not the file
// size: a zero frame header followed only by zeros is the end
// (frameReader.zeroTail). The unused zeros are cut when a segment is
// finished (rotation) and when the log closes, so closed segments end at
// their last record.
//
// The zeros are written by the commit that first needs them (its sync
// makes them durable), which makes that one commit slower: about +0.2 ms
// for 64 KiB on this class of disk, +0.5 ms for 256 KiB, +2.3 ms for
// 1 MiB. Acknowledgements are in order, so a slow sync holds back every
// act that arrives during it: small steps keep that off the tail.
const (
	zeroAhead = 64 << 10 // zeros written ahead of the data at a time
	zeroAlign = 4096
)

var zeroBlock [64 << 10]byte

func alignUp(n int64) int64 { return (n + zeroAlign - 1) &^ (zeroAlign - 1) }

// zeroTarget is where the zero region should end once the data reaches
// end: zeroAhead beyond it, on a block boundary, and not much beyond the
// rotation size.
func zeroTarget(end, segmentSize int64) int64 {
	target := alignUp(end + zeroAhead)
	if limit := alignUp(segmentSize); target > limit {
		target = max(limit, alignUp(end))
	}
	return target
}

// extendZeros makes the zero region reach past end, with a plain write
// that the commit's sync makes durable. It is best effort: a failure
// (a full disk, a file-size limit) only means later commits append, as
// when nothing was preallocated; the data is unaffected.
func (l *Log) extendZeros(end int64) {
	if l.opts.noPrealloc || l.w.zeroFailed || end <= l.w.zeroed {
		return
	}
	target := zeroTarget(end, l.opts.SegmentSize)
	for off := end; off < target; {
		n := min(int64(len(zeroBlock)), target-off)
		if _, err := l.w.seg.WriteAt(zeroBlock[:n], off); err != nil {
			l.w.zeroFailed = true
			l.logger.Warn("chain: cannot preallocate the segment; commits append instead (slower fsync)",
				"segment", segmentName(l.w.segNo), "err", err)
			// Whatever was written is zeros: still a clean end.
			l.w.zeroed = end
			return
		}
		off += n
	}
	l.w.zeroed = target
}

// trimSegment cuts the unused zeros after the data of the open segment
// and syncs the new size.
func (l *Log) trimSegment() error {
	if l.w.seg == nil || l.w.zeroed <= l.w.segSize {
		return nil
	}
	if err := l.w.seg.Truncate(l.w.segSize); err != nil {
		return fmt.Errorf("chain: trim %s: %w", segmentName(l.w.segNo), err)
	}
	if err := l.w.seg.Sync(); err != nil {
		return fmt.Errorf("chain: trim %s: %w", segmentName(l.w.segNo), err)
	}
	l.w.zeroed = l.w.segSize
	return nil
}
