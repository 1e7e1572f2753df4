from ecommerce.api.exceptions import ConflictError, PermissionDeniedError, ValidationFailed

_EMAIL_TAKEN = "A user with this email already exists."


class EmailTaken(ConflictError):
    def __init__(self):
        super().__init__(_EMAIL_TAKEN, details={"email": [_EMAIL_TAKEN]})


class WeakPassword(ValidationFailed):
    def __init__(self, messages: list[str]):
        super().__init__("The password is too weak.", details={"password": messages})


class CurrentPasswordRequired(ValidationFailed):
    def __init__(self):
        super().__init__(
            "Changing your email or password needs your current password.",
            details={"current_password": ["Wrong or missing."]},
        )


class StaffOnlyChange(PermissionDeniedError):
    default_message = "Only staff may change is_staff."


class SuperuserAccount(PermissionDeniedError):
    default_message = "Only a superuser may change or delete a superuser's account."
