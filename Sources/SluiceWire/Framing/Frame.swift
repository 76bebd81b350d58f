/// The frame layout, as gRPC frames a message: a flag byte (0 = uncompressed), a 4-byte
/// big-endian payload length, then the payload: one protobuf message.
public enum Frame {
    /// Bytes before the payload.
    public static let headerSize = 5

    /// Appends one frame holding `payload` to `buffer`.
    public static func append(payload: [UInt8], to buffer: inout [UInt8]) {
        let length = UInt32(payload.count)
        buffer.reserveCapacity(buffer.count + headerSize + payload.count)
        buffer.append(0)
        buffer.append(UInt8(truncatingIfNeeded: length >> 24))
        buffer.append(UInt8(truncatingIfNeeded: length >> 16))
        buffer.append(UInt8(truncatingIfNeeded: length >> 8))
        buffer.append(UInt8(truncatingIfNeeded: length))
        buffer.append(contentsOf: payload)
    }

    /// The header of a frame carrying `payloadCount` bytes (flags 0, big-endian length), for a
    /// writer that sends the payload after it without copying it.
    public static func header(payloadCount: Int) -> [UInt8] {
        let length = UInt32(payloadCount)
        return [0, UInt8(truncatingIfNeeded: length >> 24), UInt8(truncatingIfNeeded: length >> 16),
                UInt8(truncatingIfNeeded: length >> 8), UInt8(truncatingIfNeeded: length)]
    }

    /// One frame holding `payload`.
    public static func encode(_ payload: [UInt8]) -> [UInt8] {
        var buffer: [UInt8] = []
        append(payload: payload, to: &buffer)
        return buffer
    }
}

/// Splits a byte stream into frame payloads, whatever the read boundaries.
///
/// It never half-reads: a frame is returned only when all of it has arrived, the length is
/// checked against the maximum before anything is allocated for the payload, and ``finish()``
/// tells a clean end of input (exactly between frames) from a truncated one.
public struct FrameDecoder: Sendable {
    /// The largest payload accepted, in bytes.
    public var maxFrameSize: Int
    private var buffer: [UInt8] = []
    private var readIndex = 0
    /// Stream offset of `buffer[0]`.
    private var bufferOffset = 0
    /// Frames returned so far.
    public private(set) var framesDecoded = 0

    public init(maxFrameSize: Int = Int(Hello.defaultMaxFrameSize)) {
        self.maxFrameSize = maxFrameSize
    }

    /// Adds bytes just read from the stream.
    public mutating func append<Bytes: Collection>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        if readIndex > 0 && readIndex >= buffer.count / 2 {
            buffer.removeFirst(readIndex)
            bufferOffset += readIndex
            readIndex = 0
        }
        buffer.append(contentsOf: bytes)
    }

    /// The next complete payload, or `nil` when more bytes are needed.
    public mutating func nextFrame() throws(ProtocolError) -> [UInt8]? {
        guard let length = try nextLength(), buffer.count - readIndex >= Frame.headerSize + length else { return nil }
        let payloadStart = readIndex + Frame.headerSize
        let payload = Array(buffer[payloadStart..<payloadStart + length])
        readIndex = payloadStart + length
        framesDecoded += 1
        return payload
    }

    /// Takes out the next frame when its header has arrived, its payload has not all arrived,
    /// and it declares at least `minimumLength` bytes: the caller then reads the rest of the
    /// payload straight into place (one copy, where going through ``append(_:)`` and
    /// ``nextFrame()`` copies every byte twice more). The decoder goes on after that frame; the
    /// caller must deliver all of it or fail with ``IncompleteFrame/truncated(received:)``.
    /// Nil otherwise (``nextFrame()`` then returns the frame, or needs more bytes).
    public mutating func takeIncompleteFrame(minimumLength: Int) throws(ProtocolError) -> IncompleteFrame? {
        guard let length = try nextLength(), length >= minimumLength else { return nil }
        let payloadStart = readIndex + Frame.headerSize
        guard buffer.count - payloadStart < length else { return nil }
        let frame = IncompleteFrame(length: length, prefix: buffer[payloadStart...], frameNumber: framesDecoded + 1,
                                    byteOffset: bufferOffset + readIndex)
        bufferOffset += payloadStart + length
        buffer.removeAll(keepingCapacity: true)
        readIndex = 0
        framesDecoded += 1
        return frame
    }

    /// The payload length the next frame's header declares (checked), or nil before the whole
    /// header has arrived.
    private func nextLength() throws(ProtocolError) -> Int? {
        guard buffer.count - readIndex >= Frame.headerSize else { return nil }
        let frameNumber = framesDecoded + 1
        let start = bufferOffset + readIndex
        let flags = buffer[readIndex]
        guard flags == 0 else {
            throw ProtocolError(.unsupportedFlags,
                                "frame flag byte is \(flags); only 0 (uncompressed) is supported",
                                frameNumber: frameNumber, byteOffset: start)
        }
        var length = 0
        for i in 1...4 { length = length << 8 | Int(buffer[readIndex + i]) }
        guard length <= maxFrameSize else {
            throw ProtocolError(.frameTooLarge,
                                "frame declares \(length) bytes, over the maximum of \(maxFrameSize)",
                                frameNumber: frameNumber, byteOffset: start)
        }
        return length
    }

    /// The stream offset where the next frame starts.
    public var nextFrameOffset: Int { bufferOffset + readIndex }

    /// Call at end of input: throws when the input stopped inside a frame.
    public func finish() throws(ProtocolError) {
        let left = buffer.count - readIndex
        guard left > 0 else { return }
        throw Self.truncated(bytesIntoFrame: left, frameNumber: framesDecoded + 1, byteOffset: bufferOffset + readIndex)
    }

    fileprivate static func truncated(bytesIntoFrame: Int, frameNumber: Int, byteOffset: Int) -> ProtocolError {
        ProtocolError(.truncatedFrame, "input ended \(bytesIntoFrame) bytes into a frame", frameNumber: frameNumber, byteOffset: byteOffset)
    }
}

/// A frame taken out of a ``FrameDecoder`` before all of its payload arrived
/// (``FrameDecoder/takeIncompleteFrame(minimumLength:)``).
public struct IncompleteFrame: Sendable {
    /// The payload's length (within the decoder's maximum).
    public let length: Int
    /// The start of the payload, as far as it had arrived (shorter than `length`).
    public let prefix: ArraySlice<UInt8>
    /// The frame's number (1 = the first) and the stream offset of its header.
    public let frameNumber: Int
    public let byteOffset: Int

    /// The error for input that ended after `received` bytes of the payload (the prefix
    /// included): the one ``FrameDecoder/finish()`` gives for the same stream.
    public func truncated(received: Int) -> ProtocolError {
        FrameDecoder.truncated(bytesIntoFrame: Frame.headerSize + received, frameNumber: frameNumber, byteOffset: byteOffset)
    }
}
