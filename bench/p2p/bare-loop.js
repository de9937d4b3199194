/* A bare RTCDataChannel loop, the yardstick for the app's engine: 256 KiB chunks from one
 * preallocated buffer, high-water mark 4 MiB, resume on bufferedamountlow. Plain JS on purpose: it is
 * injected into about:blank pages as it is. */
window.bareLoop = {
  pc: null,
  async offer() {
    const pc = new RTCPeerConnection()
    this.pc = pc
    this.dc = pc.createDataChannel('bare', { ordered: true })
    await pc.setLocalDescription(await pc.createOffer())
    await this.gathered()
    return pc.localDescription.toJSON()
  },
  async answer(offer) {
    const pc = new RTCPeerConnection()
    this.pc = pc
    this.received = 0
    this.channel = new Promise((resolve) => (pc.ondatachannel = (e) => resolve(e.channel)))
    await pc.setRemoteDescription(offer)
    await pc.setLocalDescription(await pc.createAnswer())
    await this.gathered()
    return pc.localDescription.toJSON()
  },
  async accept(answer) {
    await this.pc.setRemoteDescription(answer)
    await new Promise((resolve) => (this.dc.readyState === 'open' ? resolve() : (this.dc.onopen = resolve)))
  },
  gathered() {
    return new Promise((resolve) => {
      if (this.pc.iceGatheringState === 'complete') return resolve()
      this.pc.onicegatheringstatechange = () => this.pc.iceGatheringState === 'complete' && resolve()
    })
  },
  /** Receiver: resolves with the ms between the first and the last byte. */
  async receive(total) {
    const dc = await this.channel
    dc.binaryType = 'arraybuffer'
    return new Promise((resolve) => {
      let start = 0
      dc.onmessage = (e) => {
        if (start === 0) start = performance.now()
        this.received += e.data.byteLength
        if (this.received >= total) resolve(performance.now() - start)
      }
    })
  },
  async send(total, chunk) {
    const dc = this.dc
    const HIGH = 4 * 1024 * 1024
    dc.bufferedAmountLowThreshold = 1024 * 1024
    const buf = new Uint8Array(chunk)
    for (let i = 0; i < buf.length; i++) buf[i] = i & 255
    for (let sent = 0; sent < total; ) {
      if (dc.bufferedAmount > HIGH) {
        await new Promise((resolve) => {
          const t = setTimeout(resolve, 50)
          dc.onbufferedamountlow = () => {
            clearTimeout(t)
            resolve()
          }
        })
        continue
      }
      const n = Math.min(chunk, total - sent)
      dc.send(n === chunk ? buf : buf.subarray(0, n))
      sent += n
    }
  },
}
