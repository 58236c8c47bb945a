// Data shared by the worker script and the test: the payload of byte-channel message i.
export function messageFor(i) {
  const bytes = new Uint8Array((i * 7) % 300);
  for (let j = 0; j < bytes.length; j++) bytes[j] = (i + j) & 0xff;
  return bytes;
}
