package ondevice

import "github.com/targetflow/targetflow/delivery"

// NotificationRequest returns the request a client sends to the Delivery
// API's notification call for this decision: the visitor's id, context and
// experienceCloud, the display notifications of executed mboxes, and the
// telemetry entries (engineEntries first, typically Engine.TakeTelemetry(),
// then the decision's own). It returns nil when there is nothing to send:
// no notification and no telemetry. Prefetch-only decisions with telemetry
// disabled send nothing.
func (d *Decision) NotificationRequest(engineEntries ...delivery.TelemetryEntry) *delivery.DeliveryRequest {
	var entries []delivery.TelemetryEntry
	entries = append(entries, engineEntries...)
	if d.Telemetry != nil {
		entries = append(entries, *d.Telemetry)
	}
	return BuildNotificationRequest(d.Request, d.Notifications, entries)
}

// BuildNotificationRequest builds a notification request for req's visitor
// as the SDKs do, or returns nil when there are neither notifications nor
// telemetry entries.
func BuildNotificationRequest(req *delivery.DeliveryRequest, notifications []delivery.Notification, telemetry []delivery.TelemetryEntry) *delivery.DeliveryRequest {
	if len(notifications) == 0 && len(telemetry) == 0 {
		return nil
	}
	out := &delivery.DeliveryRequest{}
	if req != nil {
		out.ID = req.ID.Clone()
		out.Context = req.Context.Clone()
		if req.ExperienceCloud != nil {
			ec := *req.ExperienceCloud
			out.ExperienceCloud = &ec
		}
		out.Property = req.Property
	}
	if len(notifications) > 0 {
		out.Notifications = append([]delivery.Notification(nil), notifications...)
	}
	if len(telemetry) > 0 {
		out.Telemetry = &delivery.Telemetry{Entries: append([]delivery.TelemetryEntry(nil), telemetry...)}
	}
	return out
}
