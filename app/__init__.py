"""Cartable: the application factory."""

from pathlib import Path

from flask import Flask

from app import requestlog, static_files, urls
from app.converters import DatabaseIdConverter
from config import Config, ProductionConfig, config_from_env


def create_app(config_class: type[Config] | None = None, **overrides) -> Flask:
    """Build the application for a configuration class, with optional overrides (tests)."""
    config_class = config_class or config_from_env()
    if issubclass(config_class, ProductionConfig):
        config_class.check()
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_object(config_class)
    app.config.update(overrides)
    app.url_map.converters["int"] = DatabaseIdConverter
    requestlog.init_app(app)
    static_files.init_app(app)
    urls.init_app(app)

    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_hooks(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from app import auth_session, read_only, security
    from app.auth import passwords
    from app.extensions import csrf, db, limiter, login_manager, mail, migrate

    # Body limits and input hygiene come before CSRFProtect's check, which reads the form.
    security.register_request_checks(app)
    db.init_app(app)
    read_only.init_app()
    # After Flask-SQLAlchemy's: teardown functions run last registered, first called.
    app.teardown_appcontext(_release_database_session)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    auth_session.init_login_manager(login_manager)
    passwords.init_app(app)


def _release_database_session(error: BaseException | None) -> None:
    """Hand the request's connection back; one the database dropped (a restart) is thrown
    away, rather than its failed rollback turning a sent answer into a bare error 500."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    from app.extensions import db

    if not db.session.registry.has():  # the request never opened a session: nothing to hand
        return
    try:
        db.session.close()
    except (OperationalError, InterfaceError):
        db.session().invalidate()


def register_blueprints(app: Flask) -> None:
    from app.account import bp as account_bp
    from app.auth import bp as auth_bp
    from app.main import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(account_bp, url_prefix="/mon-espace")
    from app.faq import bp as faq_bp

    app.register_blueprint(faq_bp)  # /faq and /infos/...
    from app.addresses import bp as addresses_bp

    app.register_blueprint(addresses_bp, url_prefix="/adresses")
    from app.trips import bp as trips_bp

    app.register_blueprint(trips_bp, url_prefix="/trajets")
    from app.reimbursements import bp as reimbursements_bp

    app.register_blueprint(reimbursements_bp, url_prefix="/remboursements")
    from app.embedding import bp as embedding_bp

    app.register_blueprint(embedding_bp)  # /e/<slug>; installs the session interface
    from app.health import bp as health_bp

    app.register_blueprint(health_bp, url_prefix="/sante")
    from app.api import bp as api_bp
    from app.extensions import csrf

    # Tokens, not cookies, authenticate the API: no session, so no CSRF to check.
    csrf.exempt(api_bp)
    app.register_blueprint(api_bp, url_prefix="/api/v1")
    from app import backoffice

    app.register_blueprint(backoffice.bp, url_prefix="/gestion")
    backoffice.install(app)  # the staff cookie under /gestion, never framed


def register_errorhandlers(app: Flask) -> None:
    from app.main.errors import register

    register(app)


def register_hooks(app: Flask) -> None:
    from app.security import register

    register(app)


def register_commands(app: Flask) -> None:
    from app.cli import register

    register(app)
