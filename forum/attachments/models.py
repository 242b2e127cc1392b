"""Attachment rows: one per file attached to a post; the bytes live on disk by content hash."""
from ..extensions import db
from ..models import Post, utcnow

KINDS = ("image", "document")
# none: nothing to extract (images, spreadsheets without text); pending: waiting for the
# job process; done / failed: extraction ran.
TEXT_STATUSES = ("none", "pending", "done", "failed")


class Attachment(db.Model):
    """A file attached to a post. `filename` is for display only (sanitised); the file is
    stored under its SHA-256, so two uploads of the same bytes share one file on disk."""

    __tablename__ = "attachment"

    id = db.Column(db.Integer, primary_key=True)
    post_id = db.Column(db.Integer, db.ForeignKey("post.id", ondelete="CASCADE"), nullable=False, index=True)
    uploader_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="SET NULL"), index=True)
    sha256 = db.Column(db.String(64), nullable=False, index=True)
    filename = db.Column(db.String(200), nullable=False)
    mime = db.Column(db.String(100), nullable=False)
    type_code = db.Column(db.String(8), nullable=False)  # pdf, docx, png, ... (see detect.TYPES)
    size = db.Column(db.Integer, nullable=False)
    kind = db.Column(db.String(10), nullable=False, default="document")
    width = db.Column(db.Integer)
    height = db.Column(db.Integer)
    thumb_sha256 = db.Column(db.String(64), index=True)
    text = db.Column(db.Text, nullable=False, default="")
    text_status = db.Column(db.String(8), nullable=False, default="none", index=True)
    position = db.Column(db.Integer, nullable=False, default=0)
    import_ref = db.Column(db.String(300))  # the import file's path, so a re-import adds nothing
    created_at = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)

    post = db.relationship(
        Post, backref=db.backref("attachments", order_by="Attachment.position, Attachment.id",
                                 lazy="select", passive_deletes=True))
    uploader = db.relationship("User")

    @property
    def is_image(self):
        return self.kind == "image"

    def __repr__(self):
        return f"<Attachment {self.id} {self.filename!r} post={self.post_id}>"

    def thumb_dimensions(self, side=480):
        """Width and height of the thumbnail (for the img attributes: no layout shift)."""
        if not self.width or not self.height:
            return None, None
        scale = min(1.0, side / max(self.width, self.height))
        return max(1, round(self.width * scale)), max(1, round(self.height * scale))
