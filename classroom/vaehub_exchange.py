"""nbgrader's submit, with the submission closed to other students.

nbgrader's own submit leaves the submission folder in the exchange's inbound mode 0777 and its files
0644, hidden only by its unguessable name (the inbound folder cannot be listed). Here the folder
becomes 0770 after the copy: its owner (the student) and its group, which is the instructor's (the
inbound folder is setgid, nbgrader makes it so), can enter it; other students cannot, name known
or not. Installed into the students' environment by classroom/setup.py and named in their
nbgrader_config.py: ``c.ExchangeFactory.submit = "vaehub_exchange.PrivateSubmit"``.
"""

import os

from nbgrader.exchange.default.submit import ExchangeSubmit


class PrivateSubmit(ExchangeSubmit):
    def copy_files(self) -> None:
        super().copy_files()
        dest = os.path.join(self.inbound_path, self.assignment_filename)
        inbound_group = os.stat(self.inbound_path).st_gid
        if os.stat(dest).st_gid != inbound_group:
            self.fail(f"{dest} does not belong to the instructor's group (gid {inbound_group}): "
                      "the inbound folder should be setgid (nbgrader release_assignment makes it so)")
        os.chmod(dest, 0o770)
