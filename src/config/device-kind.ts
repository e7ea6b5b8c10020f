// The kind of device a slot runs on, as budgetByDevice names it. No imports: the dashboard's
// browser bundle uses it too.
export type DeviceKind = "cpu" | "cuda";

export function deviceKind(device: string): DeviceKind {
  return device.startsWith("cuda") ? "cuda" : "cpu";
}
