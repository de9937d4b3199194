/* A bare RTCDataChannel loop, the yardstick for the app's engine: 256 KiB chunks from one
 * preallocated buffer, high-water mark 4 MiB, resume on bufferedamountlow. Variants for the
 * "do several channels or connections help?" question: `channels` data channels on each of `pcs`
 * peer connections, the bytes split evenly. Plain JS on purpose: it is injected into about:blank
 * pages as it is. */
window.bareLoop = {
  links: [],
  gathered(pc) {
    return new Promise((resolve) => {
      if (pc.iceGatheringState === 'complete') return resolve()
      pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve()
    })
  },
  /** Sender: one offer per peer connection. */
  async offer(pcs = 1, channels = 1) {
    this.links = []
    const offers = []
    for (let i = 0; i < pcs; i++) {
      const pc = new RTCPeerConnection()
      const dcs = []
      for (let c = 0; c < channels; c++) dcs.push(pc.createDataChannel(`bare-${c}`, { ordered: true }))
      await pc.setLocalDescription(await pc.createOffer())
      await this.gathered(pc)
      this.links.push({ pc, dcs })
      offers.push(pc.localDescription.toJSON())
    }
    return offers
  },
  /** Receiver: answers every offer; `channels` channels are expected on each. */
  async answer(offers, channels = 1) {
    this.links = []
    this.received = 0
    const answers = []
    for (const offer of offers) {
      const pc = new RTCPeerConnection()
      const dcs = []
      const all = new Promise((resolve) => {
        pc.ondatachannel = (e) => {
          dcs.push(e.channel)
          if (dcs.length === channels) resolve(dcs)
        }
      })
      await pc.setRemoteDescription(offer)
      await pc.setLocalDescription(await pc.createAnswer())
      await this.gathered(pc)
      this.links.push({ pc, dcs: all })
      answers.push(pc.localDescription.toJSON())
    }
    return answers
  },
  async accept(answers) {
    for (let i = 0; i < answers.length; i++) await this.links[i].pc.setRemoteDescription(answers[i])
    for (const { dcs } of this.links) for (const dc of dcs) await new Promise((resolve) => (dc.readyState === 'open' ? resolve() : (dc.onopen = resolve)))
  },
  /** Receiver: resolves with the ms between the first and the last byte, over every channel. */
  async receive(total) {
    const channels = (await Promise.all(this.links.map((l) => l.dcs))).flat()
    return new Promise((resolve) => {
      let start = 0
      for (const dc of channels) {
        dc.binaryType = 'arraybuffer'
        dc.onmessage = (e) => {
          if (start === 0) start = performance.now()
          this.received += e.data.byteLength
          if (this.received >= total) resolve(performance.now() - start)
        }
      }
    })
  },
  async send(total, chunk) {
    const channels = this.links.flatMap((l) => l.dcs)
    const share = Math.ceil(total / channels.length)
    const buf = new Uint8Array(chunk)
    for (let i = 0; i < buf.length; i++) buf[i] = i & 255
    const one = async (dc, bytes) => {
      const HIGH = 4 * 1024 * 1024
      dc.bufferedAmountLowThreshold = 1024 * 1024
      for (let sent = 0; sent < bytes; ) {
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
        const n = Math.min(chunk, bytes - sent)
        dc.send(n === chunk ? buf : buf.subarray(0, n))
        sent += n
      }
    }
    let left = total
    await Promise.all(
      channels.map((dc) => {
        const bytes = Math.min(share, left)
        left -= bytes
        return one(dc, bytes)
      }),
    )
  },
}
