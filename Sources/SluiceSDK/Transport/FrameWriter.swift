import Foundation
import SluiceWire

/// Writes frames to a file descriptor on a private serial queue, in order.
/// `send` waits until the frame is written, so a slow reader slows the writer (backpressure).
final class FrameWriter: @unchecked Sendable {
    private let handle: FileHandle
    private let queue: DispatchQueue
    private let lock = NSLock()
    private var failure: String?
    private var maxFrameSizeValue: Int
    private var postedBytes = 0

    init(handle: FileHandle, maxFrameSize: Int, label: String) {
        self.handle = handle
        self.maxFrameSizeValue = maxFrameSize
        self.queue = DispatchQueue(label: label)
    }

    /// The largest payload this side may send; the handshake may change it.
    var maxFrameSize: Int {
        get { lock.withLock { maxFrameSizeValue } }
        set { lock.withLock { maxFrameSizeValue = newValue } }
    }

    /// Writes one frame and waits until it is written.
    func send(payload: [UInt8]) async throws(TransportError) {
        try await send(payload: FramePayload(payload))
    }

    /// Writes one frame whose payload may have its first byte replaced (a forwarded batch), and
    /// waits until it is written.
    func send(payload: FramePayload) async throws(TransportError) {
        try checkSize(payload.count)
        try await enqueue(payload, framed: true)
    }

    /// Writes `bytes` as they are (no frame header added) and waits until they are written:
    /// for conformance tests that send malformed frames.
    func send(raw bytes: [UInt8]) async throws(TransportError) {
        try await enqueue(FramePayload(bytes), framed: false)
    }

    /// Queues one frame without waiting (logs from synchronous code). Errors are remembered.
    /// Returns false, dropping the frame, when it is over the frame limit or when frames posted
    /// earlier and not yet written already hold ``maxPostedBytes`` (a peer that is not reading):
    /// memory stays bounded however much is posted.
    @discardableResult
    func post(payload: [UInt8]) -> Bool {
        guard payload.count <= maxFrameSize else { return false }
        let accepted = lock.withLock {
            guard postedBytes == 0 || postedBytes + payload.count <= Self.maxPostedBytes else { return false }
            postedBytes += payload.count
            return true
        }
        guard accepted else { return false }
        queue.async {
            _ = self.write(FramePayload(payload), framed: true)
            self.lock.withLock { self.postedBytes -= payload.count }
        }
        return true
    }

    /// The most bytes of posted frames waiting to be written.
    static let maxPostedBytes = 1 << 20

    /// Bytes of posted frames not yet written.
    var queuedPostedBytes: Int { lock.withLock { postedBytes } }

    /// Waits until every queued frame is written.
    func flush() {
        queue.sync {}
    }

    private func checkSize(_ count: Int) throws(TransportError) {
        guard count <= maxFrameSize else {
            throw TransportError("a message of \(count) bytes is over the maximum frame size of \(maxFrameSize) bytes set in Hello; lower the batch size, or raise the maximum frame size (plugin-host --max-frame-size)")
        }
    }

    /// Writes on `queue`, in order with every other frame, and waits until it is written.
    private func enqueue(_ payload: FramePayload, framed: Bool) async throws(TransportError) {
        let result: TransportError? = await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: self.write(payload, framed: framed)) }
        }
        if let result { throw result }
    }

    /// Writes `payload` as one frame's payload, or as it is. Runs on `queue` only.
    private func write(_ payload: FramePayload, framed: Bool) -> TransportError? {
        if let failure { return TransportError(failure) }
        do {
            // The header (with the replaced first byte, if any), then the payload as it is: no
            // copy of the payload into a frame buffer.
            var head = framed ? Frame.header(payloadCount: payload.count) : []
            if let firstByte = payload.firstByte {
                head.append(firstByte)
                try handle.write(contentsOf: head)
                try handle.write(contentsOf: payload.bytes[1...])
            } else {
                if !head.isEmpty { try handle.write(contentsOf: head) }
                try handle.write(contentsOf: payload.bytes)
            }
            return nil
        } catch {
            let reason = "the peer stopped reading: \(error)"
            failure = reason
            return TransportError(reason)
        }
    }
}

/// The other side of a pipe went away or a frame could not be sent.
public struct TransportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
