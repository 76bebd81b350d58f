/// A growing byte buffer with PostgreSQL's big-endian binary primitives.
struct BinaryBuffer {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    @inline(__always) mutating func int16(_ value: Int16) {
        let bits = UInt16(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
        bytes.append(UInt8(truncatingIfNeeded: bits))
    }

    @inline(__always) mutating func int32(_ value: Int32) {
        let bits = UInt32(bitPattern: value)
        bytes.append(UInt8(truncatingIfNeeded: bits >> 24))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 16))
        bytes.append(UInt8(truncatingIfNeeded: bits >> 8))
        bytes.append(UInt8(truncatingIfNeeded: bits))
    }

    @inline(__always) mutating func int64(_ value: Int64) {
        let bits = UInt64(bitPattern: value)
        var shift: UInt64 = 56
        while true {
            bytes.append(UInt8(truncatingIfNeeded: bits >> shift))
            if shift == 0 { break }
            shift -= 8
        }
    }

    /// Reserves a 4-byte length and returns where it is, for ``patchLength(at:)``.
    @inline(__always) mutating func beginLength() -> Int {
        let at = bytes.count
        // Four appends: `append(contentsOf: [0, 0, 0, 0])` made an array and a copy per value.
        bytes.append(0)
        bytes.append(0)
        bytes.append(0)
        bytes.append(0)
        return at
    }

    /// Writes the number of bytes appended since ``beginLength()`` into its slot.
    @inline(__always) mutating func patchLength(at: Int) {
        let length = UInt32(bytes.count - at - 4)
        bytes[at] = UInt8(truncatingIfNeeded: length >> 24)
        bytes[at + 1] = UInt8(truncatingIfNeeded: length >> 16)
        bytes[at + 2] = UInt8(truncatingIfNeeded: length >> 8)
        bytes[at + 3] = UInt8(truncatingIfNeeded: length)
    }
}
